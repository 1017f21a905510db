"""Request bodies through the real server (`silverline serve`: gunicorn, one worker, real
sockets): an oversized body is refused with 413 before it is read, so the worker's memory
stays where it was, and a webhook without a signature is refused without reading its body."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.call.bodies import MAX_BODY
from ivr.runtime.embedded import free_port
from tests.served import BOOTED, Served

pytestmark = pytest.mark.wall_clock  # a real server: `make unit` runs it apart

MB = 1024 * 1024
CHUNK = b"x" * 65536


@pytest.fixture
def served(tmp_path: Path, redis_url: str) -> Iterator[tuple[int, int]]:
    """The real server on a free port; yields (port, its worker's pid)."""
    port = free_port()
    server = Served(port, redis_url, tmp_path / "spool")
    try:
        worker = int(server.wait_for(BOOTED).group(1))
        yield port, worker
    finally:
        server.kill()


def peak_kb(pid: int) -> int:
    """The most resident memory the process has held, in KB (VmHWM from /proc): a body read
    and freed again leaves its mark here, not in the current VmRSS."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


def post_body(port: int, size: int, *, signed: bool = True, chunked: bool = False) -> int:
    """POST `size` bytes of form to /voice/incoming; the status the server answers.

    The body is sent from a thread while the answer is read, as a client that does not wait
    for the server to read would: the server may answer before it has taken the body."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = ["POST /voice/incoming HTTP/1.1", f"Host: 127.0.0.1:{port}",
            "Content-Type: application/x-www-form-urlencoded"]  # fmt: skip
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    if signed:
        head.append("X-Twilio-Signature: bm90LXRoZS1yaWdodC1zaWduYXR1cmU=")  # bogus, present

    def send() -> None:
        try:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            sent = 0
            while sent < size:
                part = (b"From=" + CHUNK if sent == 0 else CHUNK)[: size - sent]
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                sent += len(part)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed: the rest is not wanted
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    try:
        while b"\r\n" not in answer:
            got = sock.recv(4096)
            if not got:
                break
            answer += got
    finally:
        sock.close()
        sender.join(timeout=60)
    return int(answer.split(b" ", 2)[1])


def test_a_webhook_body_over_the_bound_is_refused_with_413_unread(
    served: tuple[int, int],
) -> None:
    port, worker = served
    assert post_body(port, 4096) == 403  # a small body is read, and its signature is wrong
    before = peak_kb(worker)
    assert post_body(port, MB) == 413
    assert post_body(port, MB, chunked=True) == 413  # no Content-Length: cut at the bound
    assert post_body(port, 64 * MB) == 413
    # Measured (VmHWM): before the bound, the 64 MB body took the worker from 146 MB to 350 MB;
    # with it, 147 MB before and after.
    assert peak_kb(worker) - before < 4 * 1024


def test_a_webhook_without_a_signature_is_refused_before_its_body_is_read(
    served: tuple[int, int],
) -> None:
    port, worker = served
    before = peak_kb(worker)
    assert post_body(port, MAX_BODY - 1024, signed=False) == 403
    assert post_body(port, 64 * MB, signed=False) == 403  # refused on the headers alone
    assert peak_kb(worker) - before < 4 * 1024
