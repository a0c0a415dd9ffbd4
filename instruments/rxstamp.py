"""Kernel receive timestamps: when bytes reached a socket, not when Python got round to them.

A clock read in a protocol's `data_received` is late by everything the event loop did before it
reached that socket. When a batched server ends a step, hundreds of streams get bytes in the same
instant and the loop reads them one after another, so the last ones are stamped milliseconds late;
the same happens to a server reading a wave of requests. With `SO_TIMESTAMPNS` (Linux) the kernel
stamps every packet as it is queued on the socket, and `recvmsg` returns the stamp of the last
packet it read. On loopback the stamp is taken while the sender is still inside its `send()`.

`StampedSocket.recv` (the call asyncio's selector transports make before `data_received`) keeps
that stamp, converted to `time.monotonic_ns()`; a protocol reads it with `arrival_ns(fd)` in
`data_received`, which asyncio calls right after that recv with nothing run in between. Where the
kernel gives no stamp (another OS, a clock step, or a packet that came within moments of the
first stamped socket on the machine: Linux turns stamping on from a deferred work item) the clock
is read at the recv, as before.
Client sockets come from `open_socket` (aiohttp's `socket_factory`); servers listen on
`listen_socket`, whose accepted connections are StampedSockets.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from typing import Any

# Linux's SO_TIMESTAMPNS (= SCM_TIMESTAMPNS); older Pythons do not name it
SO_TIMESTAMPNS: int | None = getattr(
    socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None
)
_TIMESPEC = struct.Struct("@qq")
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0
_SOL_SOCKET = socket.SOL_SOCKET
_monotonic_ns = time.monotonic_ns
_time_ns = time.time_ns

# the last StampedSocket read of this process: its fd, when its bytes arrived, when it was read
_last_fd = -1
_last_ns = 0
_last_read_ns = 0
# a read's stamp serves the data_received right after it (same callback), not a later one
FRESH_NS = 50_000_000


def enable(sock: socket.socket) -> bool:
    """Ask the kernel to stamp what `sock` receives (False where it cannot)."""
    if SO_TIMESTAMPNS is None or not _ANCILLARY:
        return False
    try:
        sock.setsockopt(_SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


class StampedSocket(socket.socket):
    """A socket whose reads (`recv`, and `recv_into` for buffered and TLS protocols) remember
    the kernel's arrival time of the bytes they return."""

    __slots__ = ()

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data, ancillary, _, _ = self.recvmsg(bufsize, _ANCILLARY, flags)
        self._note(ancillary)
        return data

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer)
        count, ancillary, _, _ = self.recvmsg_into([view[:nbytes] if nbytes else view],
                                                   _ANCILLARY, flags)  # fmt: skip
        self._note(ancillary)
        return count

    def _note(self, ancillary: list[tuple[int, int, bytes]]) -> None:
        global _last_fd, _last_ns, _last_read_ns
        now = _monotonic_ns()
        arrived = now
        for level, kind, raw in ancillary:
            if level == _SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= _TIMESPEC.size:
                sec, nsec = _TIMESPEC.unpack_from(raw)
                # realtime -> monotonic: both clocks are slewed alike, only a step moves the
                # offset; the two reads are adjacent (the stamp errs late by their gap, ~0.1 µs)
                offset = _time_ns() - _monotonic_ns()
                stamp = sec * 1_000_000_000 + nsec - offset
                if 0 < stamp <= now:
                    arrived = stamp
        _last_fd = self.fileno()
        _last_ns = arrived
        _last_read_ns = now


class StampedListener(socket.socket):
    """A listening socket whose accepted connections are StampedSockets with stamps on."""

    __slots__ = ()

    def accept(self) -> tuple[socket.socket, Any]:
        fd, addr = self._accept()  # type: ignore[attr-defined]
        conn = StampedSocket(self.family, self.type, self.proto, fileno=fd)
        enable(conn)
        if socket.getdefaulttimeout() is None and self.gettimeout():
            conn.setblocking(True)
        return conn, addr


def arrival_ns(fd: int) -> int:
    """When the bytes of the read just done on `fd` arrived (the clock now, if not stamped).
    A stamp is only taken from a read made moments ago: an fd number is reused once closed."""
    now = _monotonic_ns()
    if fd == _last_fd and now - _last_read_ns < FRESH_NS:
        return _last_ns
    return now


def socket_fd(transport: Any) -> int:
    """The fd behind an asyncio transport (-1 if none), for `arrival_ns`."""
    sock = transport.get_extra_info("socket")
    return sock.fileno() if sock is not None else -1


def open_socket(addr_info: tuple[Any, ...]) -> socket.socket:
    """aiohttp's `socket_factory`: a client socket that stamps what it receives."""
    family, kind, proto = addr_info[0], addr_info[1], addr_info[2]
    if SO_TIMESTAMPNS is None:  # no kernel stamps here: a plain socket, read times as before
        return socket.socket(family=family, type=kind, proto=proto)
    sock = StampedSocket(family=family, type=kind, proto=proto)
    enable(sock)
    return sock


def listen_socket(host: str, port: int, backlog: int = 4096) -> socket.socket:
    """A bound, listening TCP socket on (host, port) whose connections stamp what they receive.
    The first address `host` resolves to is used (the simulator listens on one)."""
    family, kind, proto, _, addr = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = (StampedListener if SO_TIMESTAMPNS is not None else socket.socket)(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        enable(sock)
        sock.bind(addr)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock
