"""Live servers and a load generator for the HTTP benchmarks.

`start_server` runs `python -m bench.target` in a child process: the app (Silverline's
create_app, or the bare baseline) under gunicorn with `ivr.runtime.server.gunicorn_options` — the
production settings `make run` uses. `load` drives it with a Python load generator (wrk is not
needed): one process, `connections` keep-alive connections multiplexed with selectors,
pre-built request bytes, the latency of every response recorded.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.common import percentile, tree_cpu_seconds
from ivr.runtime.embedded import free_port
from ivr.settings import DEMO_AUTH_TOKEN
from routing.settings import PROJECT_ROOT


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU of the gunicorn master and its workers so far."""
        return tree_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(kind: str, redis_url: str = "", *extra: str) -> Server:
    """Start `bench.target` (kind "silverline" or "bare"); return once it answers HTTP."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.target", kind, str(port), redis_url, *extra],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server(proc, port)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bench.target {kind} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"bench.target {kind} did not answer")


def signed_post(base: str, path: str, params: dict[str, str]) -> bytes:
    """The bytes of a POST to `path` signed as Twilio signs it (the demo auth token)."""
    body = urlencode(params).encode()
    signature = RequestValidator(DEMO_AUTH_TOKEN).compute_signature(base + path, params)
    host = base.split("://", 1)[1]
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    server_cpu_s: float
    redis_cpu_s: float = 0.0  # redis-server's, when its pid was given
    client_cpu_s: float = 0.0  # the load generator's

    def per_request_us(self, cpu_s: float) -> float:
        return cpu_s / self.requests * 1e6

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000

    @property
    def cpu_us_per_request(self) -> float:
        return self.per_request_us(self.server_cpu_s)


def load(
    server: Server, requests: list[bytes], connections: int = 16, seconds: float = 10.0,
    warmup: float = 2.0, redis_pid: int | None = None,
) -> LoadResult:  # fmt: skip
    """Send `requests` (cycled) over `connections` connections for `warmup` + `seconds`.

    Only responses completed in the measured window count; the server's CPU (and
    redis-server's, with `redis_pid`, and the load generator's) is read from /proc at the
    window's start and end. Runs the client in a child process so its CPU is never the
    server's.
    """
    parent, child = multiprocessing.get_context("fork").Pipe()
    proc = multiprocessing.get_context("fork").Process(
        target=_client, args=(child, server.port, requests, connections, seconds, warmup)
    )
    proc.start()
    pids = [server.proc.pid, redis_pid or 0, cast(int, proc.pid)]
    parent.recv()  # warm-up over
    cpu0 = [tree_cpu_seconds(pid) if pid else 0.0 for pid in pids]
    parent.recv()  # window over
    cpu1 = [tree_cpu_seconds(pid) if pid else 0.0 for pid in pids]
    count, elapsed, latencies, errors = parent.recv()
    proc.join()
    used = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
    return LoadResult(count, elapsed, latencies, errors, *used)


def _client(
    pipe: object, port: int, requests: list[bytes], connections: int, seconds: float,
    warmup: float,
) -> None:  # fmt: skip
    sel = selectors.DefaultSelector()
    state: dict[socket.socket, list[object]] = {}
    next_index = 0

    def send(sock: socket.socket) -> None:
        nonlocal next_index
        data = requests[next_index % len(requests)]
        next_index += 1
        state[sock] = [time.perf_counter(), b""]
        sock.sendall(data)

    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sel.register(sock, selectors.EVENT_READ)
        send(sock)
    start = time.perf_counter()
    window_start = start + warmup
    window_end = window_start + seconds
    latencies: list[float] = []
    errors = 0
    in_window = False
    while True:
        now = time.perf_counter()
        if not in_window and now >= window_start:
            in_window = True
            pipe.send("start")  # type: ignore[attr-defined]
        if now >= window_end:
            break
        for key, _ in sel.select(timeout=0.5):
            sock = cast(socket.socket, key.fileobj)
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("server closed the connection")
            sent, buf = state[sock]
            buf = buf + chunk  # type: ignore[operator]
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                state[sock][1] = buf
                continue
            head = buf[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                if line[:15].lower() == "content-length:":
                    length = int(line[15:])
            if len(buf) < end + 4 + length:
                state[sock][1] = buf
                continue
            done = time.perf_counter()
            if not head.startswith("HTTP/1.1 200"):
                errors += 1
            if window_start <= done < window_end:
                latencies.append(done - sent)  # type: ignore[operator]
            send(sock)
    pipe.send("end")  # type: ignore[attr-defined]
    pipe.send((len(latencies), seconds, latencies, errors))  # type: ignore[attr-defined]
    for sock in state:
        sock.close()
    os._exit(0)
