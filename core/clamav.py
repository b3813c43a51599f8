"""A small client for ClamAV's daemon (clamd): INSTREAM over a Unix socket or TCP.

The Python packages for clamd are unmaintained, and the protocol is a few lines: send
`zINSTREAM\\0`, then chunks each prefixed by its length (4 bytes, big-endian), then a
zero-length chunk; clamd answers `stream: OK` or `stream: <signature> FOUND`
(docs/documents.md). Any socket problem is `ScannerUnavailable`: the caller keeps the file
in quarantine and scans it again later, it never treats "could not scan" as "clean".
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from urllib.parse import urlparse

CHUNK = 64 * 1024


class ScannerUnavailable(Exception):
    """clamd could not be reached or gave no verdict."""


@dataclass(frozen=True)
class ScanResult:
    infected: bool
    signature: str = ""


def _connect(address: str, timeout: float) -> socket.socket:
    """`address` is a socket path, `unix:///path` or `tcp://host:port`."""
    parsed = urlparse(address)
    if parsed.scheme == "tcp":
        return socket.create_connection((parsed.hostname, parsed.port or 3310), timeout=timeout)
    path = parsed.path if parsed.scheme == "unix" else address
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


def scan_bytes(address: str, data: bytes, *, timeout: float = 30.0) -> ScanResult:
    try:
        with _connect(address, timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(data), CHUNK):
                chunk = data[start : start + CHUNK]
                sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                part = sock.recv(4096)
                if not part:
                    break
                reply += part
    except OSError as exc:
        raise ScannerUnavailable(str(exc)) from exc
    answer = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if answer.endswith("FOUND"):
        signature = answer.removeprefix("stream:").removesuffix("FOUND").strip()
        return ScanResult(infected=True, signature=signature[:200])
    if answer.endswith("OK"):
        return ScanResult(infected=False)
    raise ScannerUnavailable(answer[:200] or "no answer")


def ping(address: str, *, timeout: float = 2.0) -> bool:
    try:
        with _connect(address, timeout) as sock:
            sock.sendall(b"zPING\0")
            return sock.recv(16).startswith(b"PONG")
    except OSError:
        return False
