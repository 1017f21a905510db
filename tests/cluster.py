"""A three-master Redis Cluster from the same redis-server binary, for the cluster test run."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import redis

from ivr.runtime.redis_process import RedisProcess
from tests.helpers.processes import until

SLOTS = 16384
BUS_OFFSET = 10000


class LocalCluster:
    """Three masters on loopback, slots split evenly, no replicas."""

    def __init__(self, workdir: Path, masters: int = 3) -> None:
        self.workdir = workdir
        self.ports = [cluster_port() for _ in range(masters)]
        self.nodes: list[RedisProcess] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> str:
        for port in self.ports:  # each returns once its node accepts connections
            self.nodes.append(self._spawn(port))
        nodes = [redis.Redis(port=p) for p in self.ports]
        per = SLOTS // len(nodes)
        for i, node in enumerate(nodes):
            end = SLOTS if i == len(nodes) - 1 else (i + 1) * per
            node.execute_command("CLUSTER ADDSLOTS", *range(i * per, end))
        for node in nodes[1:]:
            node.execute_command("CLUSTER MEET", "127.0.0.1", self.ports[0])
        until(lambda: all(_cluster_ok(n) for n in nodes), "cluster did not form")
        for node in nodes:  # a socket left to the garbage collector is a ResourceWarning
            node.close()
        return self.url

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def _spawn(self, port: int) -> RedisProcess:
        node = RedisProcess(
            self.workdir / str(port),
            "--appendonly",
            "no",
            "--save",
            "",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "5000",
            port=port,
        )
        node.start()
        return node


def cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and exists too.

    The kernel's ephemeral ports run up to 60999; a node on one above 55535 has no bus port
    and exits at start-up, so ports are drawn from below that range.
    """
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 30000)
        if _free(port) and _free(port + BUS_OFFSET):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cluster_ok(node: redis.Redis) -> bool:
    info = node.cluster("INFO")
    return info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == 3
