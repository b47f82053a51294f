"""TLS for sockrt sockets, shaped like the standard ``ssl`` module.

    import sockrt, sockrt.tls
    ctx = sockrt.tls.create_default_context(cafile="ca.pem")
    with sockrt.create_connection(("localhost", 8443), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"ping")

The handshake, encryption and verification run in libsockrt (rustls): a
:class:`TLSSocket` is a :class:`sockrt.Socket` whose handle is a TLS stream,
so ``send``, ``recv``, ``sendall``, ``recv_exact``, ``exchange``,
``settimeout``, ``poll``, ``shutdown`` and ``close`` (which wakes calls
blocked in other threads) work as on a plain socket. Verification fails
closed: a client context verifies the server's chain and host name
(``check_hostname`` True, ``verify_mode`` CERT_REQUIRED); turning it off
(``verify_mode = CERT_NONE``) is for tests only.

Errors are :class:`sockrt.Error` subclasses that are also the ``ssl``
module's: :class:`SSLCertVerificationError` (a certificate failed
verification; the message names the reason), :class:`SSLError` (a failed
handshake or a protocol error), :class:`SSLEOFError` (the peer closed the
TCP connection without close_notify: truncation).
"""

from __future__ import annotations

import contextlib
import enum
import os
import ssl as _ssl
from ctypes import byref, c_uint64, create_string_buffer
from typing import Any, Iterable, List, Optional, Tuple, Union

from . import _constants as C
from . import _errors, _ffi
from ._errors import Error, error_for
from ._socket import (
    AF_INET,
    AF_INET6,
    SOCK_STREAM,
    Address,
    Socket,
    _plain_host,
    _port,
    _timeout_ms,
)

CERT_NONE = _ssl.CERT_NONE
CERT_OPTIONAL = _ssl.CERT_OPTIONAL
CERT_REQUIRED = _ssl.CERT_REQUIRED
PROTOCOL_TLS_CLIENT = _ssl.PROTOCOL_TLS_CLIENT
PROTOCOL_TLS_SERVER = _ssl.PROTOCOL_TLS_SERVER
Purpose = _ssl.Purpose


class TLSVersion(enum.IntEnum):
    """The versions libsockrt speaks (the values of ``ssl.TLSVersion``)."""

    MINIMUM_SUPPORTED = C.SOCKRT_TLS_1_2
    TLSv1_2 = C.SOCKRT_TLS_1_2
    TLSv1_3 = C.SOCKRT_TLS_1_3
    MAXIMUM_SUPPORTED = C.SOCKRT_TLS_1_3


class SSLError(Error, _ssl.SSLError):
    """SOCKRT_E_TLS_HANDSHAKE or SOCKRT_E_TLS_PROTOCOL: a failed handshake
    (the peer does not speak TLS, shares no version, cipher or ALPN
    protocol, sent an alert) or, later, a bad record or fatal alert.
    Also an ``ssl.SSLError``."""

    def __str__(self) -> str:
        return self.message


class SSLCertVerificationError(SSLError, _ssl.SSLCertVerificationError):
    """SOCKRT_E_TLS_CERTIFICATE: the peer's certificate failed verification
    (unknown issuer, expired, name mismatch, ...). Also an
    ``ssl.SSLCertVerificationError``."""


class SSLEOFError(SSLError, _ssl.SSLEOFError):
    """SOCKRT_E_TLS_TRUNCATED: the peer ended the TCP stream without a TLS
    close_notify. Also an ``ssl.SSLEOFError``."""


# The TLS codes join the package's one table of errors.
_errors.ERRORS.update(
    {
        C.SOCKRT_E_TLS_HANDSHAKE: (SSLError, None),
        C.SOCKRT_E_TLS_CERTIFICATE: (SSLCertVerificationError, None),
        C.SOCKRT_E_TLS_TRUNCATED: (SSLEOFError, None),
        C.SOCKRT_E_TLS_PROTOCOL: (SSLError, None),
    }
)


def _check(rc: int) -> None:
    if rc:
        raise error_for(rc)


def _read_file(path: Union[str, "os.PathLike[str]"]) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _pem_bytes(data: Union[str, bytes]) -> bytes:
    return data.encode("ascii") if isinstance(data, str) else bytes(data)


class TLSContext:
    """Settings shared by TLS connections, like ``ssl.SSLContext``.

    ``TLSContext(PROTOCOL_TLS_CLIENT)`` (the default) verifies servers but
    trusts no CA until :meth:`load_verify_locations` or
    :meth:`load_default_certs` (the system's trust store);
    :func:`create_default_context` does the latter for you.
    ``TLSContext(PROTOCOL_TLS_SERVER)`` needs :meth:`load_cert_chain`.

    The settings become fixed in the library once a connection has used the
    context: change them first.
    """

    def __init__(self, protocol: int = PROTOCOL_TLS_CLIENT) -> None:
        if protocol not in (PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER):
            raise ValueError("protocol must be PROTOCOL_TLS_CLIENT or PROTOCOL_TLS_SERVER")
        self.protocol = protocol
        self._server = protocol == PROTOCOL_TLS_SERVER
        self._cas: List[bytes] = []
        self._system_roots = False
        self._chain: Optional[Tuple[bytes, bytes]] = None
        self._alpn: List[bytes] = []
        self._min = TLSVersion.MINIMUM_SUPPORTED
        self._max = TLSVersion.MAXIMUM_SUPPORTED
        self._resumption = True
        self._check_hostname = not self._server
        self._verify_mode = CERT_NONE if self._server else CERT_REQUIRED
        self._handle = 0  # built on first use

    # -- the ssl.SSLContext surface --

    @property
    def check_hostname(self) -> bool:
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value: bool) -> None:
        self._changing()
        value = bool(value)
        if value and self._verify_mode == CERT_NONE and not self._server:
            self._verify_mode = CERT_REQUIRED
        self._check_hostname = value

    @property
    def verify_mode(self) -> int:
        return self._verify_mode

    @verify_mode.setter
    def verify_mode(self, value: int) -> None:
        self._changing()
        if value not in (CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED):
            raise ValueError(
                f"verify_mode must be CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED, not {value!r}"
            )
        if not self._server:
            if value == CERT_NONE and self._check_hostname:
                raise ValueError(
                    "Cannot set verify_mode to CERT_NONE when check_hostname is enabled."
                )
            if value == CERT_OPTIONAL:
                value = CERT_REQUIRED  # as ssl does for clients
        self._verify_mode = value

    @property
    def minimum_version(self) -> TLSVersion:
        return self._min

    @minimum_version.setter
    def minimum_version(self, value: int) -> None:
        self._changing()
        self._min = self._version(value)

    @property
    def maximum_version(self) -> TLSVersion:
        return self._max

    @maximum_version.setter
    def maximum_version(self, value: int) -> None:
        self._changing()
        self._max = self._version(value)

    @staticmethod
    def _version(value: int) -> TLSVersion:
        value = int(value)
        if value in (_ssl.TLSVersion.MINIMUM_SUPPORTED, _ssl.TLSVersion.TLSv1_2):
            return TLSVersion.TLSv1_2
        if value in (_ssl.TLSVersion.MAXIMUM_SUPPORTED, _ssl.TLSVersion.TLSv1_3):
            return TLSVersion.TLSv1_3
        raise ValueError(f"libsockrt speaks TLS 1.2 and 1.3 only, not {value!r}")

    def load_verify_locations(
        self,
        cafile: Optional[Union[str, "os.PathLike[str]"]] = None,
        capath: Optional[Union[str, "os.PathLike[str]"]] = None,
        cadata: Optional[Union[str, bytes]] = None,
    ) -> None:
        """Trusts the CA certificates in a PEM file, every ``*.pem``/``*.crt``
        file of a directory, or PEM text. On a server context they verify
        client certificates (with ``verify_mode`` CERT_OPTIONAL or
        CERT_REQUIRED)."""
        self._changing()
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        if cafile is not None:
            self._cas.append(_read_file(cafile))
        if capath is not None:
            for name in sorted(os.listdir(capath)):
                if name.endswith((".pem", ".crt")):
                    self._cas.append(_read_file(os.path.join(capath, name)))
        if cadata is not None:
            self._cas.append(_pem_bytes(cadata))

    def load_default_certs(self, purpose: Any = Purpose.SERVER_AUTH) -> None:
        """Trusts the system's trust store (client contexts)."""
        self._changing()
        if not self._server:
            self._system_roots = True

    def load_cert_chain(
        self,
        certfile: Union[str, "os.PathLike[str]"],
        keyfile: Optional[Union[str, "os.PathLike[str]"]] = None,
        password: Any = None,
    ) -> None:
        """The certificate chain (PEM, leaf first) and private key to
        present: a server's own, or a client's for mutual TLS. Encrypted
        keys (``password``) are not supported."""
        self._changing()
        if password is not None:
            raise ValueError("encrypted private keys are not supported by libsockrt")
        chain = _read_file(certfile)
        key = _read_file(keyfile) if keyfile is not None else chain
        self._chain = (chain, key)

    def set_alpn_protocols(self, protocols: Iterable[str]) -> None:
        """ALPN protocols to offer (client) or accept (server), preferred first."""
        self._changing()
        alpn = [p.encode("ascii") if isinstance(p, str) else bytes(p) for p in protocols]
        for p in alpn:
            if not 1 <= len(p) <= 255:
                raise ValueError("ALPN protocols must be 1 to 255 bytes")
        self._alpn = alpn

    @property
    def resumption(self) -> bool:
        """Whether sessions are kept for resumption (default True). Not in
        ``ssl``: there, a client passes ``session=`` by hand; here every
        connection made with this context resumes the last session."""
        return self._resumption

    @resumption.setter
    def resumption(self, value: bool) -> None:
        self._changing()
        self._resumption = bool(value)

    def wrap_socket(
        self,
        sock: Socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: Optional[str] = None,
        session: Any = None,
    ) -> "TLSSocket":
        """Does the handshake on the connected sockrt socket `sock` (within
        its timeout) and returns the TLS socket; `sock` itself is closed
        (detached into the result), as ``ssl`` does. A listening socket
        wrapped with ``server_side=True`` hands out TLS sockets from
        ``accept()``. `session` is not supported (resumption is automatic:
        see :attr:`resumption`). `suppress_ragged_eofs` as in ``ssl``: with
        True (the default) ``recv`` returns b"" when the peer ends TCP without
        close_notify (many peers, Python's ssl among them, close that way);
        False raises SSLEOFError."""
        if not isinstance(sock, Socket):
            raise TypeError(f"wrap_socket needs a sockrt.Socket, not {type(sock).__name__}")
        if not do_handshake_on_connect:
            raise ValueError("libsockrt always does the handshake in wrap_socket")
        if session is not None:
            raise ValueError("session= is not supported: resumption is automatic per context")
        if server_side != self._server:
            raise ValueError(
                "server_side=True needs a PROTOCOL_TLS_SERVER context"
                if server_side
                else "a PROTOCOL_TLS_SERVER context can only wrap server-side sockets"
            )
        if sock.closed:
            raise _errors.closed_error()
        handle = self._built()
        if server_side and _is_listening(sock):
            return TLSSocket._listener(sock, self, suppress_ragged_eofs)
        out = c_uint64()
        if server_side:
            rc = _ffi.tls_server_upgrade(sock._h, handle, sock._timeout_ms, byref(out))
        else:
            if server_hostname is None:
                if self._check_hostname:
                    raise ValueError("check_hostname requires server_hostname")
                server_hostname = sock.getpeername()[0]
            name = server_hostname.encode("idna")
            rc = _ffi.tls_client_upgrade(sock._h, handle, name, sock._timeout_ms, byref(out))
        err = error_for(rc) if rc else None  # before another call resets the details
        if rc == 0 or not _handle_alive(sock):
            # The library ended the plain handle (always on success, and after
            # any failure past the argument checks): forget it, do not close it.
            sock._forget_handle()
            sock._closed = True
        if err is not None:
            raise err
        tls = TLSSocket._from_handle(out.value, sock.family, SOCK_STREAM)
        tls._tls_setup(self, server_side, sock.gettimeout(), suppress_ragged_eofs)
        return tls

    # -- the library's config --

    def _changing(self) -> None:
        if self._handle:
            raise ValueError(
                "the context is in use: change its settings before the first connection"
            )

    def _built(self) -> int:
        if self._handle:
            return self._handle
        if not self._server and not self._check_hostname and self._verify_mode != CERT_NONE:
            raise ValueError(
                "libsockrt always checks the host name when it verifies a server: "
                "with check_hostname False, set verify_mode = CERT_NONE (tests only)"
            )
        out = c_uint64()
        if self._server:
            if self._chain is None:
                raise ValueError("a server context needs load_cert_chain() first")
            cert, key = self._chain
            _check(_ffi.tls_server_config_new(cert, len(cert), key, len(key), byref(out)))
        else:
            _check(_ffi.tls_client_config_new(byref(out)))
        handle = out.value
        try:
            if self._server:
                if self._verify_mode != CERT_NONE:
                    if not self._cas:
                        raise ValueError("verify_mode needs load_verify_locations() for client CAs")
                    cas = b"\n".join(self._cas)
                    required = 1 if self._verify_mode == CERT_REQUIRED else 0
                    _check(_ffi.tls_server_config_verify_clients(handle, cas, len(cas), required))
            else:
                _check(_ffi.tls_client_config_use_system_roots(handle, int(self._system_roots)))
                for ca in self._cas:
                    _check(_ffi.tls_client_config_add_ca_pem(handle, ca, len(ca)))
                if self._chain is not None:
                    cert, key = self._chain
                    _check(
                        _ffi.tls_client_config_set_client_cert(
                            handle, cert, len(cert), key, len(key)
                        )
                    )
                if self._verify_mode == CERT_NONE:
                    _check(_ffi.tls_client_config_dangerous_disable_verification(handle))
            for p in self._alpn:
                _check(_ffi.tls_config_add_alpn(handle, p, len(p)))
            _check(_ffi.tls_config_set_versions(handle, int(self._min), int(self._max)))
            _check(_ffi.tls_config_set_resumption(handle, int(self._resumption)))
        except BaseException:
            _ffi.close(handle)
            raise
        self._handle = handle
        return handle

    @property
    def handle(self) -> int:
        """The library's config handle (built now if need be)."""
        return self._built()

    def close(self) -> None:
        """Frees the library's config (connections made with it live on)."""
        if self._handle:
            _ffi.close(self._handle)
            self._handle = 0

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()


SSLContext = TLSContext


def _is_listening(sock: Socket) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return True
    return False


def _handle_alive(sock: Socket) -> bool:
    return _ffi.fileno(sock._h) >= 0


def create_default_context(
    purpose: Any = Purpose.SERVER_AUTH,
    *,
    cafile: Optional[Union[str, "os.PathLike[str]"]] = None,
    capath: Optional[Union[str, "os.PathLike[str]"]] = None,
    cadata: Optional[Union[str, bytes]] = None,
) -> TLSContext:
    """Like ``ssl.create_default_context``: a client context that trusts the
    system's store (or, if given, the CAs named) and verifies host names; or,
    for ``Purpose.CLIENT_AUTH``, a server context."""
    if purpose == Purpose.CLIENT_AUTH:
        ctx = TLSContext(PROTOCOL_TLS_SERVER)
        if cafile or capath or cadata:
            ctx.load_verify_locations(cafile, capath, cadata)
        return ctx
    ctx = TLSContext(PROTOCOL_TLS_CLIENT)
    if cafile or capath or cadata:
        ctx.load_verify_locations(cafile, capath, cadata)
    else:
        ctx.load_default_certs()
    return ctx


_SUBJECT_NAMES = {
    "CN": "commonName",
    "O": "organizationName",
    "OU": "organizationalUnitName",
    "C": "countryName",
    "L": "localityName",
    "ST": "stateOrProvinceName",
    "STREET": "streetAddress",
    "DC": "domainComponent",
    "UID": "userId",
    "emailAddress": "emailAddress",
}


def _split_unescaped(text: str, sep: str) -> List[str]:
    parts, cur, escaped = [], [], False
    for ch in text:
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


class TLSSocket(Socket):
    """A TLS connection (or a TLS listener), shaped like ``ssl.SSLSocket``."""

    __slots__ = ("_context", "_server_side", "_listening", "_suppress_ragged_eofs")

    def _tls_setup(
        self,
        context: TLSContext,
        server_side: bool,
        timeout: Optional[float],
        suppress_ragged_eofs: bool = True,
    ) -> None:
        self._context = context
        self._server_side = server_side
        self._listening = False
        self._suppress_ragged_eofs = suppress_ragged_eofs
        if timeout is not None:
            self.settimeout(timeout)

    @property
    def suppress_ragged_eofs(self) -> bool:
        """As in ``ssl``: True (the default) makes recv return b"" when the
        peer ends TCP without close_notify; False raises SSLEOFError. The
        exact-length calls (recv_exact, exchange) always raise."""
        return self._suppress_ragged_eofs

    def recv(self, bufsize: int) -> bytes:
        try:
            return super().recv(bufsize)
        except SSLEOFError:
            if self._suppress_ragged_eofs:
                return b""
            raise

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        try:
            return super().recv_into(buffer, nbytes)
        except SSLEOFError:
            if self._suppress_ragged_eofs:
                return 0
            raise

    @classmethod
    def _listener(cls, sock: Socket, context: TLSContext, suppress: bool) -> "TLSSocket":
        tls = cls._from_handle(sock._h, sock.family, SOCK_STREAM)
        sock._forget_handle()
        sock._closed = True
        tls._tls_setup(context, True, None, suppress)
        tls._timeout = sock._timeout
        tls._timeout_ms = sock._timeout_ms
        tls._listening = True
        return tls

    @property
    def context(self) -> TLSContext:
        return self._context

    @property
    def server_side(self) -> bool:
        return self._server_side

    def accept(self) -> Tuple["TLSSocket", Address]:  # type: ignore[override]
        """Waits (up to the timeout) for a connection and does the server
        handshake (within the same timeout): (TLS socket, peer address)."""
        out = c_uint64()
        rc = _ffi.tls_accept(self._h, self._context._built(), self._timeout_ms, byref(out))
        if rc:
            raise self._error(rc)
        conn = TLSSocket._from_handle(out.value, self._family, SOCK_STREAM)
        conn._tls_setup(self._context, True, None, self._suppress_ragged_eofs)
        try:
            peer = conn.getpeername()
        except OSError:
            peer = ("", 0)
        return conn, peer

    def _info(self) -> _ffi.TLSInfo:
        info = _ffi.TLSInfo()
        rc = _ffi.tls_get_info(self._h, byref(info))
        if rc:
            raise self._error(rc)
        return info

    def version(self) -> Optional[str]:
        """ "TLSv1.2" or "TLSv1.3" (None once closed)."""
        if self.closed:
            return None
        return {C.SOCKRT_TLS_1_2: "TLSv1.2", C.SOCKRT_TLS_1_3: "TLSv1.3"}.get(self._info().version)

    def cipher(self) -> Optional[Tuple[str, str, int]]:
        """(cipher suite name as rustls spells it, version, secret bits)."""
        if self.closed:
            return None
        info = self._info()
        name = info.cipher_suite_name.decode("ascii")
        bits = 256 if ("256" in name or "CHACHA20" in name) else 128
        return name, self.version() or "", bits

    def selected_alpn_protocol(self) -> Optional[str]:
        """The ALPN protocol agreed on, or None."""
        info = self._info()
        return info.alpn[: info.alpn_len].decode("ascii", "replace") if info.alpn_len else None

    @property
    def session_reused(self) -> bool:
        """Whether the handshake resumed an earlier session."""
        return bool(self._info().resumed)

    def peer_subject(self) -> Optional[str]:
        """The peer certificate's subject as an RFC 4514 string, or None."""
        if not self._info().peer_certificate:
            return None
        buf = create_string_buffer(4096)
        n = _ffi.tls_peer_subject(self._h, buf, len(buf))
        if n < 0:
            raise self._error(n)
        return buf.value.decode("utf-8", "replace")

    def getpeercert(self, binary_form: bool = False) -> Optional[dict]:
        """{"subject": ((("commonName", "localhost"),), ...)} as ``ssl``
        shapes it (subject only), or None if the peer sent no certificate.
        ``binary_form`` is not supported."""
        if binary_form:
            raise ValueError("binary_form is not supported by libsockrt")
        subject = self.peer_subject()
        if subject is None:
            return None
        rdns = []
        for rdn in reversed(_split_unescaped(subject, ",")):
            parts = []
            for atv in _split_unescaped(rdn, "+"):
                key, _, value = atv.partition("=")
                parts.append((_SUBJECT_NAMES.get(key, key), value))
            rdns.append(tuple(parts))
        return {"subject": tuple(rdns)}

    def unwrap(self) -> Socket:
        raise NotImplementedError("libsockrt cannot hand a TLS stream back as plain TCP")

    # makefile() is the base class's: its SocketIO reads and writes through
    # this class's recv_into and send, so the file carries TLS.

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"handle={self._h:#x}"
        return f"<sockrt.tls.TLSSocket {state}>"


SSLSocket = TLSSocket


def create_connection(
    address: Address,
    context: Optional[TLSContext] = None,
    *,
    server_hostname: Optional[str] = None,
    timeout: Optional[float] = None,
    suppress_ragged_eofs: bool = True,
) -> TLSSocket:
    """Resolves, connects and does the handshake in one library call, all
    within `timeout` seconds (None: no limit), which then stays the socket's
    timeout. The certificate must be valid for `server_hostname` (default:
    the host of `address`). `context` defaults to create_default_context().
    `suppress_ragged_eofs` as in ``wrap_socket``."""
    if context is None:
        context = create_default_context()
    if context._server:
        raise ValueError("create_connection needs a client context")
    if not isinstance(address, tuple) or len(address) < 2:
        raise TypeError(f"address must be a (host, port) tuple, not {type(address).__name__}")
    # The library resolves the name, and verifies the certificate against it.
    host, port = _plain_host(address[0]), _port(address[1])
    name = server_hostname.encode("idna") if server_hostname is not None else None
    out = c_uint64()
    rc = _ffi.tls_connect(host, port, context._built(), name, _timeout_ms(timeout), byref(out))
    if rc:
        raise error_for(rc)
    family = AF_INET6 if b":" in host else AF_INET
    tls = TLSSocket._from_handle(out.value, family, SOCK_STREAM)
    tls._tls_setup(context, False, timeout, suppress_ragged_eofs)
    return tls


__all__ = [
    "CERT_NONE",
    "CERT_OPTIONAL",
    "CERT_REQUIRED",
    "PROTOCOL_TLS_CLIENT",
    "PROTOCOL_TLS_SERVER",
    "Purpose",
    "TLSVersion",
    "TLSContext",
    "SSLContext",
    "TLSSocket",
    "SSLSocket",
    "SSLError",
    "SSLCertVerificationError",
    "SSLEOFError",
    "create_default_context",
    "create_connection",
]
