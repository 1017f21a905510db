"""A three-master Redis Cluster from the same redis-server binary, for the cluster test run."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

from ivr.embedded import free_port, redis_binary

SLOTS = 16384


class LocalCluster:
    """Three masters on loopback, slots split evenly, no replicas."""

    def __init__(self, workdir: Path, masters: int = 3) -> None:
        self.workdir = workdir
        self.ports = [free_port() for _ in range(masters)]
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> str:
        for port in self.ports:
            self.procs.append(self._spawn(port))
        nodes = [redis.Redis(port=p) for p in self.ports]
        self._until(lambda: all(_pings(n) for n in nodes), "nodes did not start")
        per = SLOTS // len(nodes)
        for i, node in enumerate(nodes):
            end = SLOTS if i == len(nodes) - 1 else (i + 1) * per
            node.execute_command("CLUSTER ADDSLOTS", *range(i * per, end))
        for node in nodes[1:]:
            node.execute_command("CLUSTER MEET", "127.0.0.1", self.ports[0])
        self._until(lambda: all(_cluster_ok(n) for n in nodes), "cluster did not form")
        return self.url

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=10)

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        node_dir = self.workdir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(node_dir),
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "5000",
        ]
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @staticmethod
    def _until(check: object, message: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # start-up of a fixture, not a test
            if check():  # type: ignore[operator]
                return
            time.sleep(0.05)
        raise RuntimeError(message)


def _pings(node: redis.Redis) -> bool:
    try:
        return bool(node.ping())
    except redis.ConnectionError:
        return False


def _cluster_ok(node: redis.Redis) -> bool:
    info = node.cluster("INFO")
    return info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == 3
