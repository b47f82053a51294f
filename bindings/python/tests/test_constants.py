"""The package's constants match include/sockrt.h, so the two cannot drift."""

from __future__ import annotations

import re
import socket

import pytest
from conftest import HEADER

import sockrt
from sockrt import _constants

DEFINE = re.compile(r"^#define\s+(SOCKRT_[A-Z0-9_]+)\s+(-?\d+)\s*$")


def header_constants() -> dict:
    found = {}
    for line in HEADER.read_text().splitlines():
        match = DEFINE.match(line)
        if match:
            found[match.group(1)] = int(match.group(2))
    return found


def test_header_is_parsed():
    constants = header_constants()
    # Every section of the header is represented.
    for name in ("SOCKRT_OK", "SOCKRT_E_IO", "SOCKRT_INET", "SOCKRT_OPT_NODELAY",
                 "SOCKRT_POLL_IN", "SOCKRT_ADDR_MAX", "SOCKRT_SHUT_BOTH"):
        assert name in constants


def test_every_header_constant_has_the_same_value_in_python():
    header = header_constants()
    python = {k: v for k, v in vars(_constants).items() if k.startswith("SOCKRT_")}
    assert python == header


@pytest.mark.parametrize("prefix", ["OPT_", "POLL_", "E_"])
def test_public_aliases_match_the_header(prefix):
    header = header_constants()
    public = {k: v for k, v in vars(sockrt).items() if k.startswith(prefix)}
    assert public, prefix
    for name, value in public.items():
        assert header["SOCKRT_" + name] == value, name
    expected = {k for k in header if k.startswith("SOCKRT_" + prefix)}
    assert {"SOCKRT_" + k for k in public} == expected


def test_error_table_covers_every_code():
    from sockrt._errors import ERRORS

    codes = {v for k, v in header_constants().items() if k.startswith("SOCKRT_E_")}
    assert set(ERRORS) == codes


def test_socket_module_constants_translate_to_the_library():
    from sockrt import _socket

    header = header_constants()
    assert sockrt.AF_INET == socket.AF_INET and sockrt.AF_INET6 == socket.AF_INET6
    assert sockrt.SHUT_WR == socket.SHUT_WR and sockrt.SOCK_DGRAM == socket.SOCK_DGRAM
    assert _socket._FAMILY_TO_C[sockrt.AF_INET] == header["SOCKRT_INET"]
    assert _socket._FAMILY_TO_C[sockrt.AF_INET6] == header["SOCKRT_INET6"]
    assert _socket._TYPE_TO_C[sockrt.SOCK_STREAM] == header["SOCKRT_STREAM"]
    assert _socket._TYPE_TO_C[sockrt.SOCK_DGRAM] == header["SOCKRT_DGRAM"]
    assert _socket._SHUT_TO_C[sockrt.SHUT_RD] == header["SOCKRT_SHUT_READ"]
    assert _socket._SHUT_TO_C[sockrt.SHUT_WR] == header["SOCKRT_SHUT_WRITE"]
    assert _socket._SHUT_TO_C[sockrt.SHUT_RDWR] == header["SOCKRT_SHUT_BOTH"]


def test_pool_structs_match_the_header():
    from sockrt import _ffi

    text = HEADER.read_text()
    for struct, ctype in (("sockrt_pool_config", _ffi.PoolConfig),
                          ("sockrt_pool_stats", _ffi.PoolStats)):
        body = re.search(rf"typedef struct {struct} \{{(.*?)\}} {struct};", text, re.S)
        assert body, struct
        fields = re.findall(r"^\s*[\w ]*?\w+\s+\*?(\w+);", body.group(1), re.M)
        assert fields == [name for name, _ in ctype._fields_]
    assert list(sockrt.PoolStats._fields) == [name for name, _ in _ffi.PoolStats._fields_]
